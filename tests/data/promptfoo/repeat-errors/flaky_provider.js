// A promptfoo custom provider: answers through the same OpenAI-compatible server as the
// baseline, except that it fails every question about opening hours (as an overloaded API would).
class FlakyProvider {
  constructor(options) {
    this.providerId = options.id || 'flaky';
    this.config = options.config || {};
  }
  id() {
    return this.providerId;
  }
  async callApi(prompt) {
    if (prompt.includes('open?')) {
      return { error: 'API error: 503 Service Unavailable: The engine is currently overloaded' };
    }
    const res = await fetch(process.env.OPENAI_BASE_URL + '/chat/completions', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer ' + process.env.OPENAI_API_KEY },
      body: JSON.stringify({ model: this.config.model, messages: [{ role: 'user', content: prompt }] }),
    });
    const body = await res.json();
    return {
      output: body.choices[0].message.content,
      tokenUsage: { prompt: body.usage.prompt_tokens, completion: body.usage.completion_tokens, total: body.usage.total_tokens },
    };
  }
}
module.exports = FlakyProvider;

"""The vocabulary the benchmarks build synthetic support-bot answers from (shared so their
texts are alike)."""

WORDS = (
    "the a an of to in for on with by from as at and or but if then so because while although "
    "model answer refund policy customer order shipping delivery account password invoice payment "
    "request response service support team product price currency discount subscription plan "
    "return window days weeks business within after before please note that you can may should "
    "will would could must need help check verify update cancel contact email phone address "
    "tracking number status pending shipped delivered processed approved declined reason "
    "information details example steps following below above first second finally however "
    "also additionally important recommend suggest ensure provide include require allow "
    "international domestic standard express warehouse inventory stock available unavailable"
).split()

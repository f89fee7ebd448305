#!json
{"zeta": 1, "alpha": [true, null, 2.5], "mid": {"k": "v"}}

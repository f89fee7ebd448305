#!jinja|json
{"a": 1,
 "b": {{ grains.id }}}

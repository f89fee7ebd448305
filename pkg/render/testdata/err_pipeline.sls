#!mako|yaml
a: 1

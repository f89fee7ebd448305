#!yaml
# The yaml renderer alone leaves Jinja syntax as text.
literal: "{{ not_rendered }}"
list: [1, 2.5, true, null, '007']
anchors:
  base: &base {a: 1, b: 2}
  derived:
    <<: *base
    b: 3
yaml11:
  booleans: [yes, No, on, OFF, 'yes', true]
  octal_mode: 0755
  octal_string: '0755'
  date: 2024-01-31
  float: 1.5e3
  tilde: ~
  int_key:
    8080: web

#!yaml
# The yaml renderer alone leaves Jinja syntax as text.
literal: "{{ not_rendered }}"
list: [1, 2.5, true, null, '007']
anchors:
  base: &base {a: 1, b: 2}
  derived:
    <<: *base
    b: 3

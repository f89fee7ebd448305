# Mapping keys keep their written order (states run in definition order).
zulu_state:
  cmd.run:
    - name: echo z
alpha_state:
  cmd.run:
    - name: echo a
mike_state:
  cmd.run:
    - name: echo m
    - require:
      - cmd: zulu_state

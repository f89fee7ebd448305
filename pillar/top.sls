# Pillar top file for the demo: every minion gets common settings; web
# minions (by id or by the "roles" grain) get the web role's pillar.
base:
  '*':
    - common
  'web* or G@roles:web':
    - match: compound
    - web

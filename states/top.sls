# State top file of the example tree: every minion gets the common state;
# web minions (by id, or by the "roles" grain) get the web role.
base:
  '*':
    - common
  'web* or G@roles:web':
    - match: compound
    - web

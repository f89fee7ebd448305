# The web role: users, an nginx-like configuration rendered from pillar,
# and the site checked out from git.
include:
  - .users
  - .config
  - .site

cache:
  size: 64m

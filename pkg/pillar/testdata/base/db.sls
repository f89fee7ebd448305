db:
  engine: postgresql

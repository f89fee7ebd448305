app:
  release: stable

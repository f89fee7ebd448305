own:
  minion: {{ grains.id }}

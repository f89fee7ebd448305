good: {{ grains.id }}
bad: [unclosed, {{ grains.os }}
next: 3

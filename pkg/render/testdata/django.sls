#!django|yaml
minion: {{ grains.id }}
{% for s in pillar.servers %}{% if s.enabled %}
site_{{ s.name }}: {{ s.port }}
{% endif %}{% endfor %}
branch: {{ salt.pillar.get("plone:branch", "dev") }}
fallback: {{ pillar.missing|default:"x" }}
html: "{{ '<b>' }}"

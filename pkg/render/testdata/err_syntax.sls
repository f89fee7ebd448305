a: 1
{% for x in [1, 2] %}
b: {{ x }
{% endfor %}

{% extends "lib/base.jinja" %}
{% block body %}body: {{ pillar.plone.branch }}{% endblock %}

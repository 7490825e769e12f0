"""Grafana dashboards built in code with grafanalib from the catalog, with every query checked."""

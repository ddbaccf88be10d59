"""The monthly sponsor digest: figures (report), lifecycle stage, text/HTML rendering and the chart."""

"""Apps: the command line (`cli`), the HTTP API (`api`), the drawing dashboard (`dashboard`, its view
`dashboard_view` and its pointer surface `pad`) and the Voila server's kernel ceiling (`voila_kernels`).

May import everything below it. The API and the dashboard read with digitlib.reading, without torch.
"""

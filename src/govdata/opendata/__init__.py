"""Open data (公共数据开放): what the province opens to the public, and the public's side of it.

An open dataset is a published catalog entry whose open type is open or conditional,
after an opening review. ``access.public_clause`` is the one gate every public path
(portal, downloads, CKAN-compatible API, DCAT export, search) goes through.
"""

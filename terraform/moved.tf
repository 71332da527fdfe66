# Deployments made before the lake schema module declared the cleaned Glue tables as one resource
# with for_each (aws_glue_catalog_table.cleaned["<table>"]); glue_tables.tf.json now generates one
# resource per table. These blocks move the existing state, so that upgrading renames the
# addresses in place instead of destroying and recreating the tables.
moved {
  from = aws_glue_catalog_table.cleaned["beers"]
  to   = aws_glue_catalog_table.beers
}

moved {
  from = aws_glue_catalog_table.cleaned["hop_additions"]
  to   = aws_glue_catalog_table.hop_additions
}

moved {
  from = aws_glue_catalog_table.cleaned["malts"]
  to   = aws_glue_catalog_table.malts
}

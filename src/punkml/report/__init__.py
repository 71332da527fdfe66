"""The self-contained HTML analysis report (``punkml report``)."""

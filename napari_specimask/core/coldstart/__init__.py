"""Cold start: masks from classic image processing, before any model. ``methods`` (the
thresholds and what cleans their masks), ``choice`` (which method suits a project, by a
label-free score on a sample of its images), ``proposals`` (the project's cold start
chosen, stored as each unlabelled image's mask and refreshed on queued images).

May import: the core basics, ``io``, ``store`` and ``masks``. No torch.
"""

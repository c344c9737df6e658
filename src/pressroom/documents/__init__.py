"""Documents: render jobs, stored templates, the result cache, and artifact retention.

The renderers (:mod:`pressroom.renderers`) are pure functions; this package ties them to the
engine: the ``pressroom.render`` task a worker child runs (:mod:`.task`), checking submissions
and the cache (:mod:`.submit`), template bundles as stored and named (:mod:`.templates`), and
deleting artifacts with their jobs (:mod:`.retention`). See ``docs/documents.md``.
"""

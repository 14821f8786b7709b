"""The classroom views: each one makes one step of the seeds' lesson visible.

Outer products, equations, notation switch and phase stepping live beside the
gradient check (:mod:`.gradcheck_view`), the tied-weights view
(:mod:`.tied_view`) and the lesson panel (:mod:`.lesson`).
"""

"""Experiments that measure the loop, outside the product: a scripted annotator that
counts the actions a person would need (``annotator``), its runs over a panel and a
whole loop (``effort_panel``, ``effort_run``), and the simulated loop with an oracle
behind ``specimask simulate`` (``simulate``). They use core as any caller does; core,
the widgets and the other commands never import them (tests/test_packaging.py).
"""

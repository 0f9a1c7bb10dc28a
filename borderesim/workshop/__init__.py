"""Workshop mode: a live page trainers teach from (``borderesim workshop``).

``logic`` holds everything the page computes as plain functions; ``charts`` draws
its figures with matplotlib; ``app`` is the Streamlit page; ``server`` starts it.
Only ``app`` and ``server`` need the optional ``workshop`` extra (Streamlit).
"""

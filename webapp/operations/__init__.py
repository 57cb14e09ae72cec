"""Board operations: every change to a board, whoever asks (the pages, the API, the importer).

Each is a plain function of the objects it changes and the `actor` who changes them, loaded and
authorized beforehand (webapp/access.py). It checks its input (raising an error of `errors`),
makes the change, records it in the activity log, commits once, then sends the live update
(`publish`) and the `events.board_changed` signal. Callers only choose how to answer.
"""

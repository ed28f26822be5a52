"""A toy domain that lives only under tests/: a point mass on a rail driven to a goal.

It mirrors a real domain's layout in miniature, and is the proof that adding a domain touches only
these files (``tests/test_toy_domain.py`` walks them):

- ``assets/``: the description files (``cart.yaml``), like ``sim_assets/<robot>/``;
- ``toy_runtime.py``: the runtime domain module (terms, compatibility check, safety, controller,
  the :class:`~sim2real_runtime.domains.Domain`), like ``sim2real_runtime/domains/<name>.py``;
- ``toy_task.py``: the training task (config, VecEnv, draft contract, the
  :class:`~sim2real.tasks.Task`), like ``training/sim2real/<name>/task.py``;
- ``toy_policy/``: the ROS 2 node package, the I/O adapter and its config, like
  ``ros2_ws/src/<name>_policy/``.

Unlike the real domains, the modules register when asked (``register()`` / ``unregister()``), not
on import, so that the rest of the test suite never sees a toy domain.
"""

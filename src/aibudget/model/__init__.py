"""The pure cost model: functions over numpy arrays, with units in every name.

Nothing here reads files, prints, or knows about the catalog, the CLI or the web: every input
arrives as an array (length 1 for a point estimate, N for Monte Carlo draws or a sweep grid) and
every output is an array of the same shape. One module per concern:

* :mod:`~aibudget.model.compute`  training FLOPs, chip-hours and wall-clock time
* :mod:`~aibudget.model.memory`   training memory: does it fit, the minimum chips
* :mod:`~aibudget.model.energy`   power, energy, carbon
* :mod:`~aibudget.model.hardware` money: cloud rental, or owned hardware amortised
* :mod:`~aibudget.model.site`     where chips run: one cost chain for training and serving
* :mod:`~aibudget.model.training` the final training run, composed from the above
* :mod:`~aibudget.model.data`, :mod:`~aibudget.model.experiments`, :mod:`~aibudget.model.people`,
  :mod:`~aibudget.model.serving`  the other phases
* :mod:`~aibudget.model.lifecycle` every phase over a horizon of years, with the cash flow
"""

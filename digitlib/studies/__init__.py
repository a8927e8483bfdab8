"""Studies: what only the notebooks use: data exploration (`explore`), metrics (`metrics`), robustness
(`robustness`), explanations with captum (`explain`), figures (`plots`) and the stored-or-retrain cells
(`stored_runs`).

May import: digitlib.training, digitlib.models, digitlib.data, digitlib.reading and the top-level modules.
"""

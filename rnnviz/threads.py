"""How torch's CPU threads wait: set before torch loads, so imported first by the package.

torch's CPU threads are OpenMP threads, which by default spin for a while after each parallel
region, waiting for the next one. An LSTM step is hundreds of small regions per batch, and while a
thread spins it holds a core: with as many threads as cores, any other busy process (another
training run, the augmentation thread, a browser) leaves a team waiting on a descheduled member.
Measured here with 2 threads on 2 shared cores (load ~10): a bare LSTM loop ran 170 samples/s
spinning and 2,700-3,100 with a passive wait. An explicit OMP_WAIT_POLICY in the environment wins.
"""

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

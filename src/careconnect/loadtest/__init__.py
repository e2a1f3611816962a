"""Opening consultations and driving load: the one toolkit of the seed, ``careconnect loadtest``, the bench and the tests.

``rooms`` opens writable consultations (through the API, or straight into the tables);
``workload`` defines the workloads and their flags; ``driver`` connects, sends and counts;
``members`` and ``wsclient`` are the member model and the light client it rides on; ``stats``
holds the percentiles and the server readings; ``cli`` is the ``careconnect loadtest`` command.
"""

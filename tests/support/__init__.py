"""What the tests share: importable pipelines, servers, child processes and the bad-input
catalog. Not part of irgraph; public test helpers live in :mod:`irgraph.testing`."""

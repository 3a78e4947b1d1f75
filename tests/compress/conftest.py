import pytest
import torch


@pytest.fixture(autouse=True)
def one_thread():
    # Matmuls of 32-wide test models are slower with OpenMP threads than without
    # (and orders of magnitude slower when other processes share the cores).
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)

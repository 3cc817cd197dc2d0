"""``python -m autograder.reference``: refresh the published cases in ``nn_utils/cases/``."""
from . import publish

if __name__ == "__main__":
    for path in publish():
        print(path)

"""A fast password hasher for tests that stays readable by the real one.

MD5 would be faster still, but servers the tests start in other processes (uvicorn, celery) run
with the default hashers and could not check an MD5 hash. PBKDF2 records its iteration count in
each hash, so the default hasher verifies these.
"""

from django.contrib.auth.hashers import PBKDF2PasswordHasher


class FastPBKDF2PasswordHasher(PBKDF2PasswordHasher):
    iterations = 1000

"""bigcommerce-sandbox: a faithful local BigCommerce API with rate limits, latency and faults.

It imports nothing from source_bigcommerce, and source_bigcommerce imports nothing from it: the two meet
only over HTTP, so a misreading of the API cannot hide in shared code.
"""

__version__ = "0.1.0"

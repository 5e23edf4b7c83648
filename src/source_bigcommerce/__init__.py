"""source-bigcommerce: copies a BigCommerce store's data into a database, or speaks the Airbyte protocol."""

__version__ = "0.1.0"

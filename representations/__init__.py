"""The JSON representations of tasks, images and faces (``representations.serialize``), in one neutral home.

The API answers with them and the webhook sender (``actors/webhooks.py``) POSTs the same task summary, so they
live below both: above ``storage``, whose rows and reports they shape, and below ``actors`` and ``api``. Kept in
the API they made the workers import the API (a package cycle); kept in ``actors`` they would make the API's
answers depend on the queue side. ``make lint`` checks the order.
"""

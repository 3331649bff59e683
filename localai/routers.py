class LocalProviderRouter:
    """Keeps the local provider's tables in their own database, like a remote service's."""

    app_label = "localai"
    database = "localai"

    def db_for_read(self, model, **hints):
        return self.database if model._meta.app_label == self.app_label else None

    db_for_write = db_for_read

    def allow_relation(self, obj1, obj2, **hints):
        labels = {obj1._meta.app_label, obj2._meta.app_label}
        if self.app_label in labels:
            return labels == {self.app_label}
        return None

    def allow_migrate(self, db, app_label, **hints):
        if app_label == self.app_label:
            return db == self.database
        return db != self.database

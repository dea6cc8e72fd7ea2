"""SageMaker pipelines, their step scripts, the feature store's ingestion and the model lifecycle."""

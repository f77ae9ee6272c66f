"""configtest"""

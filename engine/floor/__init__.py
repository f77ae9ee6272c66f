"""floor"""

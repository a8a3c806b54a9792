"""The app's modal screens: help, Admin Center values, scenario picker, ticket status, scenario result."""

"""Django project package for the Sistema da Clínica."""

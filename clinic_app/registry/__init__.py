"""The clinic's app: tutors, animals, photos, audit.

Its seams with the rest of the project: photo_contract.py (a link to
lambda_src/photo_contract.py: what the processor and the app agree on),
clinic/envvars.py (environment names), display.py (how every value is shown
in pt-BR), export.py (the CSV), photos.py (upload ticket and the page's upload
configuration built from the contract). See clinic_app/README.md.
"""

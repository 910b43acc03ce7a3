from django.core.management.base import BaseCommand

from registry import outbox
from registry.models import PhotoDeletion


class Command(BaseCommand):
    help = "Remove the S3 objects of deleted photos (the deletion outbox); due rows only unless --all."

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help="sweep every unfinished deletion now")

    def handle(self, *args, **options):
        if options["all"]:
            rows = list(PhotoDeletion.objects.filter(done_at__isnull=True))
            done = sum(outbox.process(row) for row in rows)
            self.stdout.write(f"{len(rows)} exclusão(ões) verificada(s), {done} concluída(s).")
        else:
            n = outbox.process_due()
            self.stdout.write(f"{n} exclusão(ões) verificada(s).")
        pending = PhotoDeletion.objects.filter(done_at__isnull=True).count()
        self.stdout.write(f"{pending} pendente(s).")

"""Every internal route, authenticated with internal role tokens."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/internal")

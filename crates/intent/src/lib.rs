//! Portuguese intent matching for the self-service bot.
